package enforcer

import "sync"

// resourceLocks serialises the writes and deletes of one resource inside this process, so that
// each write's size is measured and recorded before the next write of the same resource starts.
type resourceLocks struct {
	mu    sync.Mutex
	locks map[string]*resourceLock
}

type resourceLock struct {
	sync.Mutex
	waiters int
}

func newResourceLocks() *resourceLocks {
	return &resourceLocks{locks: map[string]*resourceLock{}}
}

// lock locks the resource and returns the function that unlocks it.
func (l *resourceLocks) lock(podID, path string) func() {
	key := podID + "\x00" + path
	l.mu.Lock()
	rl, ok := l.locks[key]
	if !ok {
		rl = &resourceLock{}
		l.locks[key] = rl
	}
	rl.waiters++
	l.mu.Unlock()

	rl.Lock()
	return func() {
		rl.Unlock()
		l.mu.Lock()
		rl.waiters--
		if rl.waiters == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
}
