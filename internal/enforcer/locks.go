package enforcer

import (
	"strings"
	"sync"
)

// resourceLocks serialises the writes and deletes that touch one resource inside this process,
// so that each write's size is measured and recorded before a conflicting change starts.
//
// A write locks its subject exclusively: the resource itself, or for an auxiliary resource
// (x.acl, x.meta, c/.acl) the resource or container it belongs to, because deleting that subject
// deletes the auxiliary resources with it. It also holds shared locks on every ancestor
// container, because deleting a container removes what is recorded below it. Locks are taken
// from the root down, so two requests always take their common locks in the same order and
// cannot deadlock.
type resourceLocks struct {
	mu    sync.Mutex
	locks map[string]*resourceLock
}

type resourceLock struct {
	sync.RWMutex
	users int
}

func newResourceLocks() *resourceLocks {
	return &resourceLocks{locks: map[string]*resourceLock{}}
}

// lock locks the subject of path exclusively and its ancestor containers shared. It returns the
// function that unlocks them all.
func (l *resourceLocks) lock(podID, path string) func() {
	subject := lockSubject(path)
	return l.acquire(podID, ancestors(subject), subject)
}

// lockShared locks a container and its ancestors shared, for a POST that creates a resource in
// it.
func (l *resourceLocks) lockShared(podID, container string) func() {
	return l.acquire(podID, append(ancestors(container), container), "")
}

func (l *resourceLocks) acquire(podID string, shared []string, exclusive string) func() {
	var unlocks []func()
	for _, p := range shared {
		rl := l.get(podID, p)
		rl.RLock()
		unlocks = append(unlocks, func() { rl.RUnlock(); l.put(podID, p) })
	}
	if exclusive != "" {
		rl := l.get(podID, exclusive)
		rl.Lock()
		unlocks = append(unlocks, func() { rl.Unlock(); l.put(podID, exclusive) })
	}
	return func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
}

func (l *resourceLocks) get(podID, path string) *resourceLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := podID + "\x00" + path
	rl, ok := l.locks[key]
	if !ok {
		rl = &resourceLock{}
		l.locks[key] = rl
	}
	rl.users++
	return rl
}

func (l *resourceLocks) put(podID, path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := podID + "\x00" + path
	if rl := l.locks[key]; rl != nil {
		rl.users--
		if rl.users == 0 {
			delete(l.locks, key)
		}
	}
}

// lockSubject returns the resource or container that an auxiliary resource belongs to, or path
// itself for any other resource.
func lockSubject(path string) string {
	for _, suffix := range []string{".acl", ".meta"} {
		if subject, ok := strings.CutSuffix(path, suffix); ok && subject != "" {
			return subject
		}
	}
	return path
}

// ancestors returns the containers above path, from the root's first child down:
// /pod/c/x has /pod/ and /pod/c/.
func ancestors(path string) []string {
	var out []string
	for i := 1; i < len(path)-1; i++ {
		if path[i] == '/' {
			out = append(out, path[:i+1])
		}
	}
	return out
}
