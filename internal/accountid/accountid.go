// Package accountid holds the one rule for valid account ids, shared by the AccountQuota CRD
// and the Quota Admin API.
package accountid

import (
	"fmt"
	"regexp"
)

// Pattern is the regular expression an account id must match: 1 to 128 characters of ASCII
// letters, digits, '.', '_' and '-', starting and ending with a letter or digit. Community Solid
// Server account ids (UUIDs) and ids such as acct-001 match. The CRD's pattern marker on
// spec.accountId repeats this string; a test keeps the two equal.
const Pattern = `^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$`

// MaxLength is the maximum length of an account id in bytes.
const MaxLength = 128

var compiled = regexp.MustCompile(Pattern)

// Validate returns an error describing why id is not a valid account id, or nil.
func Validate(id string) error {
	if id == "" {
		return fmt.Errorf("account id is empty; set it to the pod server's account id, for example acct-001")
	}
	if len(id) > MaxLength {
		return fmt.Errorf("account id is %d bytes long; the maximum is %d", len(id), MaxLength)
	}
	if !compiled.MatchString(id) {
		return fmt.Errorf("account id %q is invalid: use 1 to %d letters, digits, '.', '_' or '-', "+
			"starting and ending with a letter or digit", id, MaxLength)
	}
	return nil
}
