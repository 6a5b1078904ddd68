variable "clusters" {
  description = "The clusters of the federation by name: trust domain, the stable DNS name of its public load balancer (external-dns publishes it from the Service), the reserved IP where the load balancer kind takes one (GKE, MetalLB), locality, which kind of load balancer fronts it (eks, gke, metallb), and the CIDRs its gateways reach the others from (their egress NAT), which every other cluster admits at its load balancer."
  type = map(object({
    trust_domain     = string
    public_host      = string
    load_balancer    = string
    load_balancer_ip = optional(string)
    egress_cidrs     = list(string)
    region           = string
    zone             = optional(string, "")
  }))
  default = {
    aws-east = {
      trust_domain  = "aws-east.acme.internal"
      public_host   = "gw.aws-east.acme.example"
      load_balancer = "eks"
      egress_cidrs  = ["203.0.113.0/28"]
      region        = "us-east-1"
    }
    gcp-west = {
      trust_domain     = "gcp-west.acme.internal"
      public_host      = "gw.gcp-west.acme.example"
      load_balancer    = "gke"
      load_balancer_ip = "198.51.100.20"
      egress_cidrs     = ["198.51.100.0/28"]
      region           = "us-west1"
    }
    onprem = {
      trust_domain     = "onprem.acme.internal"
      public_host      = "gw.onprem.acme.example"
      load_balancer    = "metallb"
      load_balancer_ip = "192.0.2.10"
      egress_cidrs     = ["192.0.2.0/28"]
      region           = "dc-frankfurt"
    }
  }

  validation {
    condition     = alltrue([for c in values(var.clusters) : contains(["eks", "gke", "metallb"], c.load_balancer)])
    error_message = "Each cluster's load_balancer must be eks (AWS Load Balancer Controller), gke or metallb."
  }
}

variable "ports" {
  description = "The public ports every cluster's load balancer serves (the cluster-gateway module's defaults)."
  type = object({
    bundle_endpoint = optional(number, 8443)
    cross_site      = optional(number, 7900)
    ingress         = optional(number, 15443)
  })
  default = {}
}
