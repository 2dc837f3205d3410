package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes is the largest request body the API reads: 64 KiB.
const MaxBodyBytes = 64 << 10

// JSON field names of the PUT body.
const (
	fieldStorage   = "storageLimitBytes"
	fieldBandwidth = "bandwidthLimitBps"
)

// limitChange is one field of a PUT body. When present is false the field was absent and the
// column is left as it is. When present is true, a nil value resets the column to NULL, so the
// default applies.
type limitChange struct {
	present bool
	value   *int64
}

// limitUpdate is a parsed PUT body.
type limitUpdate struct {
	storage   limitChange
	bandwidth limitChange
}

// checkContentType requires a JSON body, with no charset or UTF-8.
func checkContentType(r *http.Request) *apiError {
	header := r.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(header)
	if err == nil && mediaType == "application/json" {
		charset, hasCharset := params["charset"]
		if !hasCharset || strings.EqualFold(charset, "utf-8") {
			return nil
		}
	}
	return newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		"Content-Type %q is not supported; send the body as JSON with Content-Type: application/json",
		truncate(header, 100))
}

// limitBody rejects a body whose declared length is over MaxBodyBytes before any of it is read,
// and caps the reads of a body without a declared length. The 413 response closes the
// connection (see writeError), so the server does not read the rest of the body either.
func limitBody(r *http.Request) (io.Reader, *apiError) {
	if r.ContentLength > MaxBodyBytes {
		return nil, bodyTooLarge()
	}
	return http.MaxBytesReader(nil, r.Body, MaxBodyBytes), nil
}

func bodyTooLarge() *apiError {
	return newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
		"request body is larger than %d bytes; send only storageLimitBytes and bandwidthLimitBps", MaxBodyBytes)
}

// decodeLimitUpdate reads a PUT body strictly: one JSON object with no unknown or repeated
// fields, each value a whole number from 0 to 2^63-1 or null, and nothing after the object.
// Values are read as json.Number literals so large integers stay exact. A nested object or array
// is rejected at its first byte, so deep nesting is never walked.
func decodeLimitUpdate(body io.Reader) (limitUpdate, *apiError) {
	var update limitUpdate
	dec := json.NewDecoder(body)
	dec.UseNumber()

	if err := expectDelim(dec, '{'); err != nil {
		return update, err
	}
	seen := map[string]bool{}
	for dec.More() {
		name, err := readFieldName(dec)
		if err != nil {
			return update, err
		}
		if seen[name] {
			return update, newError(http.StatusBadRequest, CodeDuplicateField,
				"field %s appears more than once; send each field at most once", name)
		}
		seen[name] = true

		change, err := readLimit(dec, name)
		if err != nil {
			return update, err
		}
		if name == fieldStorage {
			update.storage = change
		} else {
			update.bandwidth = change
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return update, err
	}
	return update, expectEnd(dec)
}

func expectDelim(dec *json.Decoder, delim json.Delim) *apiError {
	token, err := dec.Token()
	if err != nil {
		return readError(err)
	}
	if token != delim {
		return newError(http.StatusBadRequest, CodeInvalidJSON,
			"request body must be a JSON object such as {\"storageLimitBytes\": 21474836480, \"bandwidthLimitBps\": null}")
	}
	return nil
}

func readFieldName(dec *json.Decoder) (string, *apiError) {
	token, err := dec.Token()
	if err != nil {
		return "", readError(err)
	}
	name, _ := token.(string)
	if name != fieldStorage && name != fieldBandwidth {
		return "", newError(http.StatusBadRequest, CodeUnknownField,
			"unknown field %q; the body may contain only %s and %s", truncate(name, 64), fieldStorage, fieldBandwidth)
	}
	return name, nil
}

// readLimit reads the value of one limit field.
func readLimit(dec *json.Decoder, name string) (limitChange, *apiError) {
	token, err := dec.Token()
	if err != nil {
		return limitChange{}, readError(err)
	}
	switch value := token.(type) {
	case nil:
		return limitChange{present: true}, nil
	case json.Number:
		n, err := parseWholeNumber(value.String())
		if err != nil {
			return limitChange{}, invalidLimit(name, value.String(), err)
		}
		return limitChange{present: true, value: &n}, nil
	default:
		return limitChange{}, newError(http.StatusBadRequest, CodeInvalidField,
			"%s must be a JSON number (%s) or null, not %s; quantities such as \"10Gi\" are not accepted, write "+
				"10737418240 instead", name, unitOf(name), describeToken(token))
	}
}

func invalidLimit(name, literal string, err error) *apiError {
	var problem string
	switch {
	case errors.Is(err, errNegative):
		problem = "is negative"
	case errors.Is(err, errFraction):
		problem = "is not a whole number"
	case errors.Is(err, errTooLarge):
		problem = "is larger than 9223372036854775807 (2^63-1)"
	default:
		problem = "is not a number"
	}
	return newError(http.StatusBadRequest, CodeInvalidField,
		"%s %s %s; use a whole number of %s from 0 to 9223372036854775807, or null for the default",
		name, truncate(literal, 64), problem, unitOf(name))
}

func unitOf(name string) string {
	if name == fieldBandwidth {
		return "bytes per second"
	}
	return "bytes"
}

func describeToken(token json.Token) string {
	switch value := token.(type) {
	case string:
		return fmt.Sprintf("the string %q", truncate(value, 64))
	case bool:
		return fmt.Sprintf("the boolean %t", value)
	case json.Delim:
		if value == '[' {
			return "an array"
		}
		return "an object"
	default:
		return "this value"
	}
}

// expectEnd rejects anything but white space after the object.
func expectEnd(dec *json.Decoder) *apiError {
	_, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return bodyTooLarge()
	}
	return newError(http.StatusBadRequest, CodeInvalidJSON,
		"request body has data after the JSON object; send exactly one JSON object")
}

// readError maps a decoder error to a response: 413 when the body passed MaxBodyBytes, 400
// otherwise.
func readError(err error) *apiError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return bodyTooLarge()
	}
	if errors.Is(err, io.EOF) {
		return newError(http.StatusBadRequest, CodeInvalidJSON,
			"request body is empty or ends early; send a JSON object such as {\"storageLimitBytes\": 21474836480}")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(http.StatusBadRequest, CodeInvalidJSON,
			"request body ends in the middle of a JSON value; send a complete JSON object")
	}
	return newError(http.StatusBadRequest, CodeInvalidJSON,
		"request body is not valid JSON (%v); send a JSON object such as {\"storageLimitBytes\": 21474836480}", err)
}

// truncate shortens s for an error message.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
