//go:build unix && !linux

package solidtest

import "syscall"

// processAttributes puts CSS in a process group of its own, so Stop can signal the group.
//
// NOTE: without Linux's Pdeathsig, a CSS process outlives a test binary that dies without
// running Stop, such as on a go test timeout.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
