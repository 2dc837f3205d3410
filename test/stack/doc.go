// Package stack runs the whole product on one machine: a Kubernetes control plane (etcd and
// kube-apiserver built by hack/build-control-plane.sh), PostgreSQL, the manager with its admin
// API, the enforcer, and Community Solid Server behind the enforcer with seeded pods. `make dev`
// and the end-to-end tests use it. Every server listens on 127.0.0.1.
package stack
