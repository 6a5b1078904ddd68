output "gateway_spiffe_id" {
  description = "This cluster's gateway SPIFFE ID."
  value       = module.gateway.gateway_spiffe_id
}

output "bundle_endpoint_url" {
  description = "This cluster's SPIFFE bundle endpoint."
  value       = module.gateway.bundle_endpoint_url
}

output "egress_service" {
  description = "Where this cluster's workloads send mesh-name traffic."
  value       = module.gateway.egress_service
}
