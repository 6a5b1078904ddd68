terraform {
  required_version = ">= 1.5"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.23"
    }
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0"
    }
  }
}

# One kubernetes provider per cluster: two clouds and on-prem.
provider "kubernetes" {
  alias          = "aws_east"
  config_path    = var.kubeconfig
  config_context = var.clusters["aws-east"].kube_context
}

provider "kubernetes" {
  alias          = "gcp_west"
  config_path    = var.kubeconfig
  config_context = var.clusters["gcp-west"].kube_context
}

provider "kubernetes" {
  alias          = "onprem"
  config_path    = var.kubeconfig
  config_context = var.clusters["onprem"].kube_context
}
