// Command etcd is etcd's server entry point, built from go.etcd.io/etcd/server/v3 at the version
// k8s.io/kubernetes pins, so the local cluster needs no release download.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
