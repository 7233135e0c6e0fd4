// CoreDNS with only the plugins the testbed's real node uses: the cluster's names from the
// API server (kubernetes), the rest forwarded to the host's resolvers. The full build links the
// SDKs of every cloud's DNS; this one builds in a fraction of the time.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
)

// The plugins in CoreDNS's own order (its plugin.cfg), which is the order a query meets them.
var directives = []string{"bind", "errors", "log", "cache", "kubernetes", "forward"}

func main() {
	dnsserver.Directives = directives
	coremain.Run()
}
