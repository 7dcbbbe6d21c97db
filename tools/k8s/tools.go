//go:build tools

// Package tools pins the Kubernetes-side tools the chart and image tests
// build into bin/: a real kube-apiserver and etcd (created objects go
// through admission, PodSecurity included), envtest to run them, and
// go-containerregistry for the images. Kept out of go.work so these
// dependency graphs never reach the services' build list; helm and
// kubeconform need k8s.io v0.37 and live in tools/helm.
package tools

import (
	_ "github.com/google/go-containerregistry/pkg/v1/layout"
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
)
