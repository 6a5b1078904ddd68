output "crds" {
  description = "CustomResourceDefinitions to apply first (as install_crds selects): the MCS API (ServiceExport, ServiceImport) and Isthmus' own."
  value       = local.crds
}

output "objects" {
  description = "The gateway's Kubernetes objects by role (namespace, rbac, config, stateful_set, services, pdb, network_policy), all but the Secrets: not sensitive, so a plan shows what changes."
  value       = local.objects
}

output "secrets" {
  description = "The gateway's two Secrets by role (ca_secret: root certificate and, when given inline, the intermediate; admin_secret: the bootstrap admin token). Sensitive."
  value       = local.secrets
  sensitive   = true
}

output "application_properties" {
  description = "The gateway configuration the ConfigMap carries."
  value       = local.application_properties
}

output "ports" {
  description = "The ports the gateway listens on, as configured."
  value       = local.ports
}

output "endpoints" {
  description = "Where this gateway is reached: by the other clusters (public_address, bundle_endpoint_url, cross_site_address and ingress_address: what their peers input needs), by local workloads (egress_service), and its SPIFFE ID."
  value = {
    public_address      = var.public_address
    bundle_endpoint_url = "https://${var.public_address}:${local.ports.bundle_endpoint}/"
    cross_site_address  = "${var.public_address}:${local.ports.cross_site}"
    ingress_address     = "${var.public_address}:${local.ports.ingress}"
    egress_service      = "${var.name}-egress.${var.namespace}.svc.${var.cluster_domain}:${local.ports.egress}"
    gateway_spiffe_id   = "spiffe://${var.trust_domain}/ns/${var.namespace}/sa/${var.name}"
  }
}

output "intermediate_generation" {
  description = "The active intermediate generation (the one in the gateway's CA Secret) and the other one held, if any: what `isthmus rotate status` should show as active and as next or previous. Null with intermediate_secret or the inline pair."
  value = var.active_intermediate_generation == null ? null : {
    active = var.active_intermediate_generation
    other  = one(nonsensitive([for name in keys(var.intermediate_generations) : name if name != var.active_intermediate_generation]))
  }
}
