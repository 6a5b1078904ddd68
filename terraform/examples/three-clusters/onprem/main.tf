# The onprem cluster: its own root configuration and its own state, so that each cluster's apply (and whoever may run
# it) touches only that cluster, and a leaked state exposes no other trust domain.

terraform {
  backend "kubernetes" {
    # State in a Secret of the on-prem cluster itself: terraform init -backend-config=backend.hcl (config_path,
    # config_context, namespace).
    secret_suffix = "isthmus-onprem"
  }
}

provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context
}

module "cluster" {
  source = "../cluster"

  cluster_name         = "onprem"
  image                = var.image
  root_certificate_pem = file(var.root_certificate_file)
}

output "cluster" {
  description = "This cluster's gateway SPIFFE ID, bundle endpoint and egress Service."
  value       = module.cluster
}
