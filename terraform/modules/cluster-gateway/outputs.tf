output "public_service_name" {
  description = "Name of the LoadBalancer Service peers reach (ingress, bundle endpoint, cross-site bridge)."
  value       = "${var.name}-public"
}

output "admin_service_name" {
  description = "Name of the Service of the admin and enrolment API (ClusterIP unless admin_access says otherwise)."
  value       = "${var.name}-admin"
}

output "public_address" {
  description = "The address peers reach this cluster at (public_address)."
  value       = module.manifests.endpoints.public_address
}

output "bundle_endpoint_url" {
  description = "This cluster's SPIFFE bundle endpoint, for the other clusters' peers.<this>.bundle_endpoint_url."
  value       = module.manifests.endpoints.bundle_endpoint_url
}

output "cross_site_address" {
  description = "This cluster's cross-site registry bridge (host:port), for the other clusters' peers.<this>.cross_site_addresses."
  value       = module.manifests.endpoints.cross_site_address
}

output "ingress_address" {
  description = "This cluster's east-west ingress (host:port), as the registry advertises it."
  value       = module.manifests.endpoints.ingress_address
}

output "egress_service" {
  description = "In-cluster address local workloads send mesh-name traffic to (under cluster_domain)."
  value       = module.manifests.endpoints.egress_service
}

output "gateway_spiffe_id" {
  description = "The gateway's own SPIFFE ID (its bundle endpoint presents it), for the other clusters' peers.<this>.endpoint_spiffe_id."
  value       = module.manifests.endpoints.gateway_spiffe_id
}

output "ports" {
  description = "The gateway's ports."
  value       = module.manifests.ports
}

output "application_properties" {
  description = "The rendered gateway configuration."
  value       = module.manifests.application_properties
}

output "intermediate_generation" {
  description = "The active intermediate generation and the other one held (intermediate_generations), for comparing with `isthmus rotate status`."
  value       = module.manifests.intermediate_generation
}
