//go:build tools

// Package tools pins helm and kubeconform, built into bin/ for make
// chart-test. Its own module (out of go.work): helm v3.22 needs k8s.io
// v0.37, while the kube-apiserver in tools/k8s is v1.36.3.
package tools

import (
	_ "github.com/yannh/kubeconform/cmd/kubeconform"
	_ "helm.sh/helm/v3/cmd/helm"
)
