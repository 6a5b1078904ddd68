# The federation's public description, one source of truth for every cluster's configuration: which clusters there
# are, where each is reached (its load balancer's stable name), its trust domain and locality, and what kind of load
# balancer fronts it. Provider-free: each cluster's own configuration (../aws-east, ../gcp-west, ../onprem) reads it,
# and the test suite renders it offline. Nothing secret belongs here.

locals {
  # The gateway's namespace and name in every cluster (they make up its SPIFFE ID, which peers pin).
  namespace = "isthmus-system"
  name      = "isthmus-gateway"

  # Per kind of load balancer, what the public Service needs so that peers in other networks reach it at a stable
  # address. Only the source ranges (the peers' egress addresses) come from the cluster description.
  load_balancers = {
    # AWS Load Balancer Controller (not the legacy in-tree controller): an NLB it owns, internet-facing (its default
    # is internal), targeting pod IPs and keeping the client's address for the NetworkPolicy and loadBalancerSourceRanges.
    eks = {
      class = "service.k8s.aws/nlb"
      annotations = {
        "service.beta.kubernetes.io/aws-load-balancer-scheme"                  = "internet-facing"
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"         = "ip"
        "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes" = "preserve_client_ip.enabled=true"
      }
    }
    # GKE: an external passthrough Network Load Balancer (backend-service based) at a reserved regional static IP,
    # so a recreated Service keeps the address the peers know.
    gke = {
      class = null
      annotations = {
        "cloud.google.com/l4-rbs" = "enabled"
      }
    }
    # On-prem with MetalLB (0.14.9+ prefix metallb.io/): a fixed address from a pool reserved for Isthmus.
    metallb = {
      class = null
      annotations = {
        "metallb.io/address-pool" = "isthmus"
      }
    }
  }

  # For each cluster, every other cluster as a peer: its bundle endpoint and cross-site bridge at its public address.
  peers = {
    for name in keys(var.clusters) : name => {
      for other, c in var.clusters : other => {
        trust_domain         = c.trust_domain
        bundle_endpoint_url  = "https://${c.public_host}:${var.ports.bundle_endpoint}/"
        endpoint_spiffe_id   = "spiffe://${c.trust_domain}/ns/${local.namespace}/sa/${local.name}"
        cross_site_addresses = ["${c.public_host}:${var.ports.cross_site}"]
        # Who may vouch for callers at this cluster's ingress (the default, spelled out).
        gateway_ids = ["spiffe://${c.trust_domain}/ns/${local.namespace}/sa/${local.name}"]
      } if other != name
    }
  }
}

# The same clusters as the membership document's payload: sign it offline and hand it to any one gateway, and every
# gateway federates with exactly these clusters, without an apply or a restart anywhere (../README.md, step 5).
module "membership" {
  source = "../../../modules/federation-root/membership"
  clusters = {
    for name, c in var.clusters : name => {
      trust_domain        = c.trust_domain
      bundle_endpoint_url = "https://${c.public_host}:${var.ports.bundle_endpoint}/"
      bridge_addresses    = ["${c.public_host}:${var.ports.cross_site}"]
      ingress_address     = "${c.public_host}:${var.ports.ingress}"
      gateway_ids         = ["spiffe://${c.trust_domain}/ns/${local.namespace}/sa/${local.name}"]
      region              = c.region
      zone                = c.zone
    }
  }
}
