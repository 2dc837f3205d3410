package solidtest

import "syscall"

// processAttributes puts CSS in a process group of its own, so Stop can signal the group, and
// has the kernel kill it when the test binary dies without running Stop (a panic or a go test
// timeout), so no CSS outlives its tests.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
