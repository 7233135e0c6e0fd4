//go:build tools

// kwok pins client-go 0.33, which cannot share a build list with
// Kubernetes 1.31, so it gets a module of its own; this import only keeps
// the dependencies of sigs.k8s.io/kwok/cmd/kwok recorded in go.mod and go.sum.
package kwok

import (
	_ "github.com/spf13/pflag"
	_ "sigs.k8s.io/kwok/pkg/config"
	_ "sigs.k8s.io/kwok/pkg/kwok/cmd"
	_ "sigs.k8s.io/kwok/pkg/log"
	_ "sigs.k8s.io/kwok/pkg/utils/signals"
)
