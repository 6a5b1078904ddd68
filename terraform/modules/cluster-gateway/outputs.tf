output "public_service_name" {
  description = "Name of the LoadBalancer Service peers and VM agents reach (ingress, bundle endpoint, cross-site, enrolment)."
  value       = "${var.name}-public"
}

output "egress_service" {
  description = "In-cluster address local workloads send mesh-name traffic to."
  value       = "${var.name}-egress.${var.namespace}.svc.cluster.local:${module.manifests.ports.egress}"
}

output "gateway_spiffe_id" {
  description = "The gateway's own SPIFFE ID (its bundle endpoint presents it)."
  value       = "spiffe://${var.trust_domain}/ns/${var.namespace}/sa/${var.name}"
}

output "ports" {
  description = "The gateway's ports."
  value       = module.manifests.ports
}

output "application_properties" {
  description = "The rendered gateway configuration."
  value       = module.manifests.application_properties
}
