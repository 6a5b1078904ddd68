# The federation's membership as a payload for the root to sign: every cluster's name, trust domain, bundle endpoint,
# bridge and ingress addresses, gateway identities and locality (docs/membership.md). Provider-free, and without a
# version or a timestamp: `isthmus federation sign --payload` gives it the version after the one in force and the time
# of signing, where the root key is kept (never in Terraform), so that a plan changes only when the clusters do.

locals {
  members = [for name in sort(keys(var.clusters)) : {
    name            = name
    trustDomain     = var.clusters[name].trust_domain
    bundleEndpoint  = var.clusters[name].bundle_endpoint_url
    bridgeAddresses = var.clusters[name].bridge_addresses
    ingressAddress  = var.clusters[name].ingress_address
    gatewayIds      = length(var.clusters[name].gateway_ids) > 0 ? var.clusters[name].gateway_ids : ["spiffe://${var.clusters[name].trust_domain}/ns/isthmus-system/sa/isthmus-gateway"]
    locality        = { region = var.clusters[name].region, zone = var.clusters[name].zone }
  }]
}
