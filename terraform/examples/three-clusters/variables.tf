variable "kubeconfig" {
  description = "Path of the kubeconfig holding a context for each of the three clusters."
  type        = string
  default     = "~/.kube/config"
}

variable "image" {
  description = "Federation gateway container image."
  type        = string
}

variable "root_certificate_pem" {
  description = "Federation root certificate (from modules/federation-root or `bin/isthmus ca init-root`, created offline)."
  type        = string
}

variable "clusters" {
  description = "The three clusters: kube context, trust domain, the DNS name peers reach its public Service by, locality, and its intermediate (made offline with `bin/isthmus ca issue-intermediate`)."
  type = map(object({
    kube_context                 = string
    trust_domain                 = string
    public_host                  = string
    region                       = string
    zone                         = string
    intermediate_certificate_pem = string
    intermediate_private_key_pem = string
  }))
  sensitive = true

  validation {
    condition     = toset(keys(var.clusters)) == toset(["aws-east", "gcp-west", "onprem"])
    error_message = "clusters must have exactly the keys aws-east, gcp-west and onprem (one per provider alias)."
  }
}
