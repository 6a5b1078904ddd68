variable "clusters" {
  description = "Every cluster of the federation by name (also its registry site): its trust domain, SPIFFE bundle endpoint URL (https://host:8443/), the host:port of its cross-site registry bridge and of its east-west ingress as the other clusters reach them, the SPIFFE IDs of its gateways (default spiffe://<trust domain>/ns/isthmus-system/sa/isthmus-gateway) and its locality."
  type = map(object({
    trust_domain        = string
    bundle_endpoint_url = string
    bridge_addresses    = list(string)
    ingress_address     = string
    gateway_ids         = optional(list(string), [])
    region              = optional(string, "")
    zone                = optional(string, "")
  }))

  validation {
    condition     = alltrue([for n, _ in var.clusters : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", n)) && length(n) <= 63])
    error_message = "Every cluster name must be a DNS label (lowercase letters, digits, '-'): it is the cluster's registry site name."
  }

  validation {
    condition     = length(distinct([for c in values(var.clusters) : c.trust_domain])) == length(var.clusters)
    error_message = "Two clusters have the same trust_domain; each cluster is its own trust domain (every member refuses such a document: duplicate-trust-domain)."
  }

  validation {
    condition     = alltrue([for c in values(var.clusters) : can(regex("^[a-z0-9._-]+$", c.trust_domain))])
    error_message = "Every trust_domain must be a SPIFFE trust domain: lowercase letters, digits, '.', '-', '_'."
  }

  validation {
    condition     = alltrue([for c in values(var.clusters) : can(regex("^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s]*)?$", c.bundle_endpoint_url))])
    error_message = "Every bundle_endpoint_url must be an https:// URL (https://host[:port]/): the SPIFFE bundle endpoint profile https_spiffe."
  }

  validation {
    condition = alltrue(flatten([for c in values(var.clusters) : [for a in concat(c.bridge_addresses, [c.ingress_address]) :
      can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", a)) && try(tonumber(split(":", a)[1]) >= 1 && tonumber(split(":", a)[1]) <= 65535, false)
    ]]))
    error_message = "Every bridge_addresses entry and every ingress_address must be host:port with a port in 1-65535, e.g. gw.gcp-west.example:7900."
  }

  validation {
    condition = alltrue(flatten([for c in values(var.clusters) : [for id in c.gateway_ids :
    startswith(id, "spiffe://${c.trust_domain}/")]]))
    error_message = "A cluster's gateway_ids must be SPIFFE IDs of its own trust domain: spiffe://<its trust_domain>/..."
  }
}
