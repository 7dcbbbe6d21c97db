// Command etcd is etcd v3.6 built from its server module, for the
// kube-apiserver the chart tests run (envtest's KUBEBUILDER_ASSETS).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
