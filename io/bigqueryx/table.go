package bigqueryx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Environment variables naming emulator endpoints, read when Options leave
// them empty. Google's BigQuery client reads neither itself.
const (
	EnvEndpoint        = "BIGQUERY_EMULATOR_HOST"
	EnvStorageEndpoint = "BIGQUERY_STORAGE_EMULATOR_HOST"
)

// ErrorTableSuffix is appended to a table's name to name its error table.
const ErrorTableSuffix = "_error_records"

// Table names a BigQuery table.
type Table struct {
	Project string
	Dataset string
	Table   string
}

// Names that reach SQL text and API paths. Project ids follow Google Cloud's
// rules (6 to 30 lowercase letters, digits and hyphens, starting with a
// letter, not ending with a hyphen; domain-scoped "example.com:p" projects
// are not supported). Dataset ids follow BigQuery's (letters, digits and
// underscores, at most 1024). Table ids are a strict subset of BigQuery's:
// ASCII letters, digits, underscores and hyphens, at most 1024 bytes with the
// error-table suffix; BigQuery would also take spaces and other Unicode, which
// this package refuses so that a name can never need quoting beyond backticks.
var (
	projectRE = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	datasetRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)  // and at most 1024
	tableRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`) // and at most 1024 bytes
	columnRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,299}$`)
	bucketRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)
)

// ParseTable parses "PROJECT.DATASET.TABLE" or the legacy
// "PROJECT:DATASET.TABLE" and validates each part.
func ParseTable(s string) (Table, error) {
	var t Table
	if p, rest, ok := strings.Cut(s, ":"); ok {
		d, tb, ok := strings.Cut(rest, ".")
		if !ok || strings.Contains(tb, ".") {
			return Table{}, fmt.Errorf("bigqueryx: table %q: want PROJECT.DATASET.TABLE or PROJECT:DATASET.TABLE", s)
		}
		t = Table{Project: p, Dataset: d, Table: tb}
	} else {
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			return Table{}, fmt.Errorf("bigqueryx: table %q: want PROJECT.DATASET.TABLE or PROJECT:DATASET.TABLE", s)
		}
		t = Table{Project: parts[0], Dataset: parts[1], Table: parts[2]}
	}
	if err := t.Validate(); err != nil {
		return Table{}, err
	}
	return t, nil
}

// Validate checks every part of t against BigQuery's naming rules (see the
// package documentation for the exact subset accepted).
func (t Table) Validate() error {
	switch {
	case !projectRE.MatchString(t.Project):
		return fmt.Errorf("bigqueryx: project %q: want 6-30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen", t.Project)
	case !datasetRE.MatchString(t.Dataset) || len(t.Dataset) > 1024:
		return fmt.Errorf("bigqueryx: dataset %q: want 1-1024 letters, digits or underscores", t.Dataset)
	case !tableRE.MatchString(t.Table) || len(t.Table) > 1024:
		return fmt.Errorf("bigqueryx: table %q: want 1-1024 ASCII letters, digits, underscores or hyphens", t.Table)
	case len(t.Table)+len(ErrorTableSuffix) > 1024:
		return fmt.Errorf("bigqueryx: table %q: too long to name its error table", t.Table)
	}
	return nil
}

// String returns "PROJECT.DATASET.TABLE".
func (t Table) String() string { return t.Project + "." + t.Dataset + "." + t.Table }

// SQL returns the table as a quoted GoogleSQL identifier, `PROJECT.DATASET.TABLE`.
// Only call it on a validated Table: validation is what makes the quoting safe.
func (t Table) SQL() string { return "`" + t.String() + "`" }

// ErrorTable is the table that receives t's dead letters, <table>_error_records.
func (t Table) ErrorTable() Table {
	e := t
	e.Table += ErrorTableSuffix
	return e
}

// isErrorTable reports whether t is itself an error table, which gets no
// error table of its own.
func (t Table) isErrorTable() bool { return strings.HasSuffix(t.Table, ErrorTableSuffix) }

// storageParent is the table's resource name in the Storage Write API.
func (t Table) storageParent() string {
	return managedwriter.TableParentFromParts(t.Project, t.Dataset, t.Table)
}

// Options say where BigQuery is. The zero value talks to Google Cloud with
// application default credentials.
type Options struct {
	// Endpoint is the HTTP endpoint of the BigQuery API, for an emulator:
	// "http://127.0.0.1:9050" or "127.0.0.1:9050". Default
	// $BIGQUERY_EMULATOR_HOST.
	Endpoint string
	// StorageEndpoint is the host:port of the Storage Write API's gRPC
	// endpoint, for an emulator. Default $BIGQUERY_STORAGE_EMULATOR_HOST.
	StorageEndpoint string
	// Project runs query jobs (and is billed for them). Default: the project
	// of the table at hand; Query needs it.
	Project string
}

// Resolved fills empty endpoints from the environment. An endpoint means an
// emulator: clients then send no credentials, and talk to the Storage API
// over plaintext gRPC. Credentials are never sent to an endpoint given here,
// so a mistyped host cannot receive them.
func (o Options) Resolved() Options {
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv(EnvEndpoint)
	}
	if o.StorageEndpoint == "" {
		o.StorageEndpoint = os.Getenv(EnvStorageEndpoint)
	}
	return o
}

// Validate checks the options as the clients would use them, endpoints
// resolved from the environment, e.g. to reject bad flags before a pipeline
// is built.
func (o Options) Validate() error { return o.Resolved().validate() }

// validate checks resolved options. Error messages name the setting, never
// its value, in case a URL carries secrets.
func (o Options) validate() error {
	if (o.Endpoint == "") != (o.StorageEndpoint == "") {
		// Half an emulator would send reads to one place and writes to
		// another, one of them Google Cloud with real credentials.
		return errors.New("bigqueryx: set both Endpoint and StorageEndpoint (or " + EnvEndpoint + " and " + EnvStorageEndpoint + "), or neither")
	}
	if o.Endpoint != "" {
		if _, err := httpEndpoint(o.Endpoint); err != nil {
			return err
		}
		if _, err := grpcEndpoint(o.StorageEndpoint); err != nil {
			return err
		}
	}
	if o.Project != "" && !projectRE.MatchString(o.Project) {
		return fmt.Errorf("bigqueryx: project %q is not a valid project id", o.Project)
	}
	return nil
}

// httpEndpoint turns "host:port" or "http(s)://host:port" into a base URL.
func httpEndpoint(e string) (string, error) {
	if !strings.Contains(e, "://") {
		e = "http://" + e
	}
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("bigqueryx: Endpoint: want http://HOST:PORT or HOST:PORT")
	}
	if u.User != nil {
		return "", errors.New("bigqueryx: Endpoint must not carry credentials")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"), nil
}

// grpcEndpoint checks a "host:port", tolerating an http:// prefix.
func grpcEndpoint(e string) (string, error) {
	e = strings.TrimPrefix(strings.TrimPrefix(e, "http://"), "dns:///")
	if strings.Contains(e, "@") {
		return "", errors.New("bigqueryx: StorageEndpoint must not carry credentials")
	}
	if _, port, err := net.SplitHostPort(e); err != nil || port == "" {
		return "", errors.New("bigqueryx: StorageEndpoint: want HOST:PORT")
	}
	return e, nil
}

// newClient opens a BigQuery API client for project.
func newClient(ctx context.Context, project string, o Options) (*bigquery.Client, error) {
	var copts []option.ClientOption
	if o.Endpoint != "" {
		e, err := httpEndpoint(o.Endpoint)
		if err != nil {
			return nil, err
		}
		copts = append(copts, option.WithEndpoint(e), option.WithoutAuthentication())
	}
	c, err := bigquery.NewClient(ctx, project, copts...)
	if err != nil {
		return nil, fmt.Errorf("bigqueryx: BigQuery client: %w", err)
	}
	return c, nil
}

// newWriteClient opens a Storage Write API client for project.
func newWriteClient(ctx context.Context, project string, o Options) (*managedwriter.Client, error) {
	var copts []option.ClientOption
	if o.StorageEndpoint != "" {
		e, err := grpcEndpoint(o.StorageEndpoint)
		if err != nil {
			return nil, err
		}
		copts = append(copts,
			option.WithEndpoint(e),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	c, err := managedwriter.NewClient(ctx, project, copts...)
	if err != nil {
		return nil, fmt.Errorf("bigqueryx: Storage Write client: %w", err)
	}
	return c, nil
}
