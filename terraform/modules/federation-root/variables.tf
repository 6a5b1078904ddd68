variable "root_certificates_pem" {
  description = "The federation root certificate(s), PEM, made offline (`bin/isthmus ca init-root --out fed/` writes fed/root.pem). One; two while the root rotates (the new one next to the old one). Certificates only: no key ever enters Terraform here."
  type        = list(string)

  validation {
    condition     = length(var.root_certificates_pem) >= 1 && length(var.root_certificates_pem) <= 2
    error_message = "root_certificates_pem holds ${length(var.root_certificates_pem)} certificates; it must hold one root certificate, or two while the root rotates (the old one and the new one). Finish a root rotation (remove the old root) before starting the next."
  }

  validation {
    condition     = length(distinct([for pem in var.root_certificates_pem : trimspace(pem)])) == length(var.root_certificates_pem)
    error_message = "root_certificates_pem lists the same root certificate twice: a second root is a new one (`bin/isthmus ca init-root --out fed2/`), added next to the old one."
  }

  validation {
    condition = alltrue([for pem in var.root_certificates_pem :
    length(regexall("-----BEGIN CERTIFICATE-----", pem)) == 1 && !strcontains(pem, "PRIVATE KEY")])
    error_message = "Each entry of root_certificates_pem must be exactly one PEM certificate (-----BEGIN CERTIFICATE-----) and no private key: the root key stays offline."
  }
}

variable "clusters" {
  description = "Every cluster of the federation, to render the membership document's payload from (see ./membership for the fields). Empty: no membership is rendered (peers are then configured statically on each cluster-gateway)."
  type = map(object({
    trust_domain        = string
    bundle_endpoint_url = string
    bridge_addresses    = list(string)
    ingress_address     = string
    gateway_ids         = optional(list(string), [])
    region              = optional(string, "")
    zone                = optional(string, "")
  }))
  default = {}
}
