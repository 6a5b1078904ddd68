output "gateway_spiffe_ids" {
  description = "Each cluster's gateway SPIFFE ID."
  value = {
    aws-east = module.aws_east.gateway_spiffe_id
    gcp-west = module.gcp_west.gateway_spiffe_id
    onprem   = module.onprem.gateway_spiffe_id
  }
}

output "egress_services" {
  description = "Where each cluster's workloads send mesh-name traffic."
  value = {
    aws-east = module.aws_east.egress_service
    gcp-west = module.gcp_west.egress_service
    onprem   = module.onprem.egress_service
  }
}
