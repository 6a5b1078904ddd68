# Provider-free: renders JSON only.
terraform {
  required_version = ">= 1.9"
}
