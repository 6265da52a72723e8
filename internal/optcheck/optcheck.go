// Package optcheck holds the checks the Validate methods of tickbeam's
// options share, so their messages agree: each names the package and the
// field at fault, e.g. "bars: AllowedLateness must be >= 0, got -1s".
package optcheck

import (
	"errors"
	"fmt"
	"time"
)

// Field is an option's name and value.
type Field[T any] struct {
	Name  string
	Value T
}

// F names v.
func F[T any](name string, v T) Field[T] { return Field[T]{Name: name, Value: v} }

type number interface {
	~int | ~int64 | ~float64 // time.Duration is an int64
}

// NonNegative reports the first negative field.
func NonNegative[T number](pkg string, fs ...Field[T]) error {
	for _, f := range fs {
		if f.Value < 0 {
			return fmt.Errorf("%s: %s must be >= 0, got %v", pkg, f.Name, f.Value)
		}
	}
	return nil
}

// Required reports the first empty field.
func Required(pkg string, fs ...Field[string]) error {
	for _, f := range fs {
		if f.Value == "" {
			return fmt.Errorf("%s: %s is required", pkg, f.Name)
		}
	}
	return nil
}

// First returns the first error that is not nil.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Wrap prefixes err with pkg and the field's name; nil stays nil.
func Wrap(pkg, field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", pkg, field, err)
}

// Errorf is an error about a field: "pkg: field " and the formatted rest.
func Errorf(pkg, field, format string, args ...any) error {
	return errors.New(pkg + ": " + field + " " + fmt.Sprintf(format, args...))
}

// DayDivisor checks a period that must tile a day: whole seconds from 1s to
// 24h, dividing 24h. what names it in the error ("resolution").
func DayDivisor(what string, d time.Duration) error {
	switch {
	case d < time.Second || d > 24*time.Hour:
		return fmt.Errorf("%s %v: must be between 1s and 24h", what, d)
	case d%time.Second != 0:
		return fmt.Errorf("%s %v: must be whole seconds", what, d)
	case (24*time.Hour)%d != 0:
		return fmt.Errorf("%s %v: must divide a day evenly", what, d)
	}
	return nil
}
