package adminapi

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// maxLimit is the largest limit a BIGINT column stores: 2^63-1.
const maxLimit = math.MaxInt64

// maxInt64Digits is the number of decimal digits of 2^63-1.
const maxInt64Digits = 19

// maxExponentDigits bounds the exponent of a number literal. Any larger exponent makes a nonzero
// value either too large or a fraction, so the value is never expanded.
const maxExponentDigits = 4

var (
	errNegative  = errors.New("negative")
	errFraction  = errors.New("not a whole number")
	errTooLarge  = errors.New("too large")
	errMalformed = errors.New("not a number")
)

// parseWholeNumber converts a JSON number literal to an int64 from 0 to 2^63-1 without going
// through float64, so every value in that range is kept exact. Exponent forms are accepted when
// their value is whole (1e3 is 1000, 1.5e1 is 15). It returns errNegative, errFraction,
// errTooLarge or errMalformed.
func parseWholeNumber(literal string) (int64, error) {
	negative := strings.HasPrefix(literal, "-")
	literal = strings.TrimPrefix(literal, "-")

	mantissa, exponentText, hasExponent := strings.Cut(strings.ToLower(literal), "e")
	intPart, fracPart, _ := strings.Cut(mantissa, ".")
	if intPart == "" || !isDigits(intPart) || !isDigits(fracPart) {
		return 0, errMalformed
	}

	exponent, exponentErr := 0, error(nil)
	if hasExponent {
		exponent, exponentErr = parseExponent(exponentText)
	}
	if errors.Is(exponentErr, errMalformed) {
		return 0, errMalformed
	}

	// The value is digits × 10^scale, where digits has no leading zeros.
	digits := strings.TrimLeft(intPart+fracPart, "0")
	if digits == "" {
		return 0, nil // Zero in any form, -0 and 0e99999 included.
	}
	if negative {
		return 0, errNegative
	}
	if exponentErr != nil {
		return 0, exponentErr
	}
	return scaleDigits(digits, exponent-len(fracPart))
}

// parseExponent parses the exponent of a number literal. An exponent too long to expand turns
// into errTooLarge when positive and errFraction when negative, because the mantissa is nonzero.
func parseExponent(text string) (int, error) {
	sign := 1
	switch {
	case strings.HasPrefix(text, "-"):
		sign, text = -1, text[1:]
	case strings.HasPrefix(text, "+"):
		text = text[1:]
	}
	if text == "" || !isDigits(text) {
		return 0, errMalformed
	}
	text = strings.TrimLeft(text, "0")
	if len(text) > maxExponentDigits {
		if sign < 0 {
			return 0, errFraction
		}
		return 0, errTooLarge
	}
	n, err := strconv.Atoi("0" + text)
	if err != nil {
		return 0, errMalformed
	}
	return sign * n, nil
}

// scaleDigits returns digits × 10^scale when that is a whole number no larger than 2^63-1.
func scaleDigits(digits string, scale int) (int64, error) {
	if scale < 0 {
		keep := len(digits) + scale
		if keep <= 0 || strings.Trim(digits[keep:], "0") != "" {
			return 0, errFraction
		}
		digits = digits[:keep]
	}
	if scale > 0 {
		if len(digits)+scale > maxInt64Digits {
			return 0, errTooLarge
		}
		digits += strings.Repeat("0", scale)
	}
	if len(digits) > maxInt64Digits {
		return 0, errTooLarge
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > maxLimit {
		return 0, errTooLarge
	}
	return int64(n), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
