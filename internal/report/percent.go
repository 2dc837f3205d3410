package report

import "math/big"

// StoragePercent returns storage_bytes as a percentage of the storage limit, rounded down to one
// decimal place, such as "37.5". Rounding down keeps an account below a threshold in the alerts
// below it here too. As in the AccountQuota status, a limit of 0 (a read-only account) counts any
// stored byte as 100 percent, and usage of 0 or less is 0 percent.
func (a Account) StoragePercent() string {
	used, limit := a.StorageBytes, a.StorageLimit.Value
	switch {
	case used <= 0:
		return "0.0"
	case limit <= 0:
		return "100.0"
	}
	// used * 1000 overflows int64 above about 9.2e15 bytes, so the division uses big integers.
	tenths := new(big.Int).Mul(big.NewInt(used), big.NewInt(1000))
	tenths.Quo(tenths, big.NewInt(limit))
	whole, fraction := new(big.Int).QuoRem(tenths, big.NewInt(10), new(big.Int))
	return whole.String() + "." + fraction.String()
}
