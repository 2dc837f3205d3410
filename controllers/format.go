package controllers

import (
	"fmt"
	"math"
)

var binaryUnits = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// shortQuantity renders a byte count with a binary suffix, rounded to one decimal below 10 and
// to a whole number above, such as 1.2Gi, 15Mi or 512. It is for display: the exact figure stays
// in the byte fields.
func shortQuantity(n int64) string {
	if n < 1024 {
		return fmt.Sprint(n)
	}
	v, unit := scaleBinary(float64(n))
	if v < 10 {
		return trimZero(fmt.Sprintf("%.1f", math.Round(v*10)/10)) + binaryUnits[unit]
	}
	return fmt.Sprintf("%d", int64(math.Round(v))) + binaryUnits[unit]
}

// roundRate keeps two significant digits of a rate in its binary unit and drops rates under
// 1 KiB/s, so that the status changes only when a person would see a different figure.
func roundRate(bytesPerSecond float64) int64 {
	if bytesPerSecond < 1024 {
		return 0
	}
	v, unit := scaleBinary(bytesPerSecond)
	digits := math.Pow(10, math.Floor(math.Log10(v))-1) // two significant digits
	rounded := math.Round(v/digits) * digits
	return int64(rounded * math.Pow(1024, float64(unit)))
}

// scaleBinary returns v in the largest binary unit that keeps it at 1 or more.
func scaleBinary(v float64) (float64, int) {
	unit := 0
	for v >= 1024 && unit < len(binaryUnits)-1 {
		v /= 1024
		unit++
	}
	return v, unit
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}
