# Image names used by docker-build and deploy.
IMG ?= xpod-quota-manager:latest
ENFORCER_IMG ?= xpod-quota-enforcer:latest

CONTROLLER_TOOLS_VERSION ?= v0.23.0
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
KUBECTL ?= $(shell hack/build-control-plane.sh 2>/dev/null)/kubectl

# Go test flags; GO_TEST_FLAGS=-run=TestName narrows a run.
GO_TEST_FLAGS ?=

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and RBAC manifests from the markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: control-plane
control-plane: ## Build kube-apiserver, etcd and kubectl from the pinned modules (cached outside the repo).
	hack/build-control-plane.sh

# FUZZ_TIME bounds the admin API fuzz run that make test includes.
FUZZ_TIME ?= 20s

.PHONY: test
test: manifests generate fmt vet ## Run every test against a real API server and PostgreSQL, then a bounded fuzz run.
	hack/check-generated.sh
	KUBEBUILDER_ASSETS="$$(hack/build-control-plane.sh)" FUZZ_TIME=$(FUZZ_TIME) hack/with-postgres.sh hack/run-tests.sh $(GO_TEST_FLAGS)

.PHONY: fuzz
fuzz: ## Fuzz the admin API handlers for FUZZ_TIME.
	KUBEBUILDER_ASSETS="$$(hack/build-control-plane.sh)" hack/with-postgres.sh \
		go test ./internal/adminapi -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZ_TIME)

.PHONY: dev
dev: manifests ## Run the whole system locally: control plane, PostgreSQL, manager, enforcer, Solid server.
	go run ./test/devstack

.PHONY: e2e
e2e: manifests ## Run the end-to-end tests on the local stack.
	KUBEBUILDER_ASSETS="$$(hack/build-control-plane.sh)" hack/with-postgres.sh go test ./test/e2e -count=1 -v -timeout 20m

##@ Build

.PHONY: build
build: generate fmt vet ## Build the manager, enforcer and quotactl binaries into bin/.
	go build -o $(LOCALBIN)/manager ./cmd/manager
	go build -o $(LOCALBIN)/enforcer ./cmd/enforcer
	go build -o $(LOCALBIN)/quotactl ./cmd/quotactl

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the current kubeconfig and DATABASE_URL.
	go run ./cmd/manager

.PHONY: docker-build
docker-build: ## Build the manager and enforcer images (needs a Docker engine).
	docker build -t $(IMG) .
	docker build --build-arg BINARY=enforcer -t $(ENFORCER_IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUBECTL) apply -f config/crd/bases

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs from the cluster of the current kubeconfig.
	$(KUBECTL) delete --ignore-not-found -f config/crd/bases

.PHONY: deploy
deploy: manifests ## Deploy the operator to the cluster of the current kubeconfig.
	$(KUBECTL) apply -k config/default

.PHONY: undeploy
undeploy: ## Remove the operator from the cluster of the current kubeconfig.
	$(KUBECTL) delete --ignore-not-found -k config/default

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install the pinned controller-gen into bin/.
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
