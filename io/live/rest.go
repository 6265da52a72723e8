package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxRESTBody bounds a REST response read into memory.
const maxRESTBody = 32 << 20

var httpClient = &http.Client{Timeout: 30 * time.Second}

// getJSON GETs url with header h and decodes the JSON body into dst. 429 and
// 418 are rate-limit errors with the server's Retry-After; 401/403 are
// *AuthError. Error texts name the path, never a query or a header.
func getJSON(ctx context.Context, vendor, url string, h http.Header, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s REST request: %w", vendor, err)
	}
	return doJSON(vendor, req, h, dst)
}

func doJSON(vendor string, req *http.Request, h http.Header, dst any) error {
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		// url.Error repeats the URL, query included: name the path only.
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTBody+1))
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == 418:
		return &rateLimitError{After: retryAfter(resp.Header), Reason: fmt.Sprintf("HTTP %d from %s", resp.StatusCode, req.URL.Path)}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &AuthError{Vendor: vendor, Reason: fmt.Sprintf("HTTP %d from %s: %s", resp.StatusCode, req.URL.Path, snippet(body))}
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, snippet(body))
	case len(body) > maxRESTBody:
		return fmt.Errorf("%s %s: response larger than %d bytes", req.Method, req.URL.Path, maxRESTBody)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

func unwrapURLError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap()
	}
	return err
}

// snippet is the start of a response body for an error message.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return fmt.Sprintf("%q...", b[:n])
	}
	return fmt.Sprintf("%q", b)
}
