output "crds" {
  description = "CustomResourceDefinitions to apply first: the MCS API (ServiceExport, ServiceImport) and Isthmus' own."
  value       = local.crds
}

output "objects" {
  description = "The gateway's Kubernetes objects by role (namespace, rbac, ca_secret, config, deployment, services, pdb)."
  value       = local.objects
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
