package solidtest

import "syscall"

// processAttributes puts CSS in a process group of its own, so Stop can signal the group. The
// kernel also kills CSS when the test binary dies without running Stop, as on a go test timeout.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
