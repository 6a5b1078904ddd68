# Provider-free on purpose: this module only computes the Kubernetes objects, so they can be rendered and
# tested offline (terraform/test/render) and applied by the parent module with any provider version.
terraform {
  required_version = ">= 1.5"
}
