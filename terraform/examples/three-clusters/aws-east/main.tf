# The aws-east cluster: its own root configuration and its own state, so that each cluster's apply (and whoever may run
# it) touches only that cluster, and a leaked state exposes no other trust domain.

terraform {
  backend "s3" {
    # Partial configuration: terraform init -backend-config=backend.hcl (bucket, region, dynamodb_table or
    # use_lockfile, kms_key_id). Encrypted, versioned, readable only by who administers aws-east.
    key     = "isthmus/aws-east/terraform.tfstate"
    encrypt = true
  }
}

provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context
}

module "cluster" {
  source = "../cluster"

  cluster_name         = "aws-east"
  image                = var.image
  root_certificate_pem = file(var.root_certificate_file)
}

output "cluster" {
  description = "This cluster's gateway SPIFFE ID, bundle endpoint and egress Service."
  value       = module.cluster
}
