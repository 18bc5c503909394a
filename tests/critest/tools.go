//go:build tools

// Package critest pins Kubernetes' CRI validation suite, critest
// (sigs.k8s.io/cri-tools), for tests/clients' TestCritest. critest is a Go
// test binary (cmd/critest has only a _test.go file), so it cannot be a
// `tool` directive: this file imports what that test imports, so that go.mod
// and go.sum hold everything `go test -c sigs.k8s.io/cri-tools/cmd/critest`
// needs, and the main module's dependencies stay as they are.
package critest

import (
	_ "github.com/onsi/ginkgo/v2"
	_ "github.com/onsi/gomega"
	_ "sigs.k8s.io/cri-tools/pkg/benchmark"
	_ "sigs.k8s.io/cri-tools/pkg/common"
	_ "sigs.k8s.io/cri-tools/pkg/framework"
	_ "sigs.k8s.io/cri-tools/pkg/validate"
	_ "sigs.k8s.io/cri-tools/pkg/version"
)
