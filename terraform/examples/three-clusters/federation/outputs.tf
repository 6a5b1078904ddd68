output "clusters" {
  description = "The clusters as described (trust domain, public host, locality, load balancer kind)."
  value       = var.clusters
}

output "peers" {
  description = "For each cluster, its peers input for the cluster-gateway module: every other cluster."
  value       = local.peers
}

output "load_balancer" {
  description = "For each cluster, its load_balancer input for the cluster-gateway module: class and annotations of its kind, its reserved IP, and the other clusters' egress CIDRs as source ranges."
  value = {
    for name, c in var.clusters : name => {
      class         = local.load_balancers[c.load_balancer].class
      annotations   = local.load_balancers[c.load_balancer].annotations
      ip            = c.load_balancer_ip
      source_ranges = sort(flatten([for other, o in var.clusters : o.egress_cidrs if other != name]))
    }
  }
}

output "gateway" {
  description = "The gateway's namespace and name in every cluster."
  value       = { namespace = local.namespace, name = local.name }
}

output "membership_json" {
  description = "The federation's membership payload: sign it where the root key is kept (isthmus federation sign --payload) and push it to any gateway."
  value       = module.membership.membership_json
}
