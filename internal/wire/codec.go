package wire

import (
	"fmt"
	"reflect"
	"sync"
)

// Codec is the binary form of one row type: Append writes x after b, Read
// reads back what Append wrote.
type Codec[T any] struct {
	Append func(b []byte, x T) []byte
	Read   func(r *Reader) T
}

// codecs maps a row type to its Codec. The root package tickbeam fills it
// from init for the row types other tickbeam packages embed in their own
// batch coders (Tick, PriceChange): the codecs live in the root package,
// which registers its Beam coders there, and this package cannot import it.
var codecs sync.Map // reflect.Type -> Codec[T]

// Register makes c the codec of T; call it from the init of T's package.
func Register[T any](c Codec[T]) { codecs.Store(reflect.TypeFor[T](), c) }

// For returns the codec registered for T. It panics when there is none:
// importing T's package registers it, so For may run in package variable
// initialization of any package that uses T.
func For[T any]() Codec[T] {
	c, ok := codecs.Load(reflect.TypeFor[T]())
	if !ok {
		panic(fmt.Sprintf("wire: no codec registered for %v", reflect.TypeFor[T]()))
	}
	return c.(Codec[T])
}
