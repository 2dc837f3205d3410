package report

import (
	"math/big"
	"strconv"
)

// binarySuffixes are the Kubernetes binary quantity suffixes, each 1024 times the one before.
var binarySuffixes = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// humanBytes renders a byte count with a binary suffix and at most one decimal, such as 1.2Gi,
// rounded to the nearest tenth. Counts below 1024 are printed exactly, without a suffix.
func humanBytes(n int64) string {
	return humanBigBytes(big.NewInt(n))
}

// humanBigBytes is humanBytes for counts that may exceed int64, such as the traffic sum. A
// magnitude above 2^64-1 is printed exactly.
func humanBigBytes(n *big.Int) string {
	sign := ""
	if n.Sign() < 0 {
		sign = "-"
	}
	magnitude := new(big.Int).Abs(n)
	if !magnitude.IsUint64() {
		return n.String()
	}
	return sign + humanMagnitude(magnitude.Uint64())
}

func humanMagnitude(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10)
	}
	unit := 1
	for unit < len(binarySuffixes)-1 && n>>(10*(unit+1)) > 0 {
		unit++
	}
	shift := uint(10 * unit)
	whole := n >> shift
	remainder := n & (1<<shift - 1)
	// remainder < 2^60, so remainder*10 plus half a unit stays below 2^64.
	tenths := (remainder*10 + 1<<(shift-1)) >> shift
	if tenths == 10 {
		whole, tenths = whole+1, 0
	}
	if whole == 1024 && unit < len(binarySuffixes)-1 {
		whole, unit = 1, unit+1
	}
	text := strconv.FormatUint(whole, 10)
	if tenths > 0 {
		text += "." + strconv.FormatUint(tenths, 10)
	}
	return text + binarySuffixes[unit]
}
