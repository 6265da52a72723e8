package pubsubx

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// A project id, optionally domain-scoped ("example.com:my-project").
	projectRE = regexp.MustCompile(`^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	// Pub/Sub's rule for topic and subscription ids.
	resourceRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$`)
)

// ParseSubscription splits "projects/P/subscriptions/S" into P and S.
func ParseSubscription(name string) (project, id string, err error) {
	return parseName(name, "subscriptions", "subscription")
}

// ParseTopic splits "projects/P/topics/T" into P and T.
func ParseTopic(name string) (project, id string, err error) {
	return parseName(name, "topics", "topic")
}

func parseName(name, collection, what string) (project, id string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != collection {
		return "", "", fmt.Errorf("%s %q is not of the form projects/PROJECT/%s/ID", what, name, collection)
	}
	project, id = parts[1], parts[3]
	if !projectRE.MatchString(project) {
		return "", "", fmt.Errorf("%s %q: %q is not a Google Cloud project id", what, name, project)
	}
	if !resourceRE.MatchString(id) || strings.HasPrefix(strings.ToLower(id), "goog") {
		return "", "", fmt.Errorf("%s %q: %q is not a valid Pub/Sub %s id (3-255 of A-Z a-z 0-9 - _ . ~ + %%, starting with a letter, not with goog)",
			what, name, id, what)
	}
	return project, id, nil
}
