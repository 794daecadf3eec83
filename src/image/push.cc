#include "image/push.h"

#include "image/content_store.h"
#include "image/metadata.h"
#include "image/reference.h"
#include "image/store.h"

namespace berth::image {
namespace {

// A stored image by name: the name as given, then normalised.
Result<ImageRecord> find_image(Metadata& meta, std::string_view source) {
  BERTH_TRY_ASSIGN(id, meta.resolve_name(source));
  if (!id) {
    if (auto ref = parse_reference(source); ref) {
      BERTH_TRY_ASSIGN(again, meta.resolve_name(ref->tag_or_digest()));
      id = again;
    }
  }
  if (!id) return error("image \"{}\" not found in the store", source);
  BERTH_TRY_ASSIGN(image, meta.get_image(*id));
  if (!image) return error("image \"{}\" not found in the store", source);
  return std::move(*image);
}

}  // namespace

Result<PushResult> push(std::string_view source, std::string_view destination, const PushOptions& options) {
  BERTH_TRY_ASSIGN(store, Store::open(options.root));
  Metadata& meta = store.metadata();
  ContentStore& content = store.content();
  // The blobs read are leased before they are read, and the lease is a write
  // one (it excludes gc): a hold lease's refs do not stop a gc that read the
  // store's state before they were added, and an `rmi` + `system prune` of the
  // image during the push must not remove a blob it is uploading.
  BERTH_TRY_ASSIGN(lease, store.lease("push", 24 * 3600, Store::LeaseUse::write));
  BERTH_TRY_ASSIGN(image, find_image(meta, source));
  BERTH_TRY(lease.add(LeaseResource::content, image.manifest_digest));
  BERTH_TRY(lease.add(LeaseResource::content, image.id));
  for (const auto& l : image.layers)
    if (!l.digest.empty()) BERTH_TRY(lease.add(LeaseResource::content, l.digest));
  BERTH_TRY_ASSIGN(dest, parse_reference(destination.empty() ? source : destination));
  if (dest.tag.empty() && !dest.digest) dest.tag = "latest";
  BERTH_TRY_ASSIGN(manifest_digest, oci::parse_digest(image.manifest_digest));
  BERTH_TRY_ASSIGN(manifest_text, content.read_blob(manifest_digest, oci::kMaxManifestSize));
  BERTH_TRY_ASSIGN(manifest, oci::parse_manifest(manifest_text));
  BERTH_TRY_ASSIGN(client, RegistryClient::create(dest.registry, options.registry));

  // Other repositories of the same registry this image came from: mount sources.
  std::vector<std::string> mount_from;
  for (const auto& name : image.names)
    if (auto r = parse_reference(name); r && r->registry == dest.registry && r->repository != dest.repository)
      mount_from.push_back(r->repository);

  PushResult result;
  result.destination = dest.str();
  std::vector<oci::Descriptor> blobs = manifest.layers;
  blobs.push_back(manifest.config);
  for (const auto& d : blobs) {
    if (auto t = oci::layer_type(d.media_type); t && t->foreign) continue;  // never pushed, as the peers do
    BERTH_TRY_ASSIGN(exists, client->blob_exists(dest.repository, d.digest));
    if (exists) {
      ++result.skipped;
      if (options.progress) options.progress({PushEvent::Kind::exists, d.digest, d.size, d.size});
      continue;
    }
    bool mounted = false;
    for (const auto& from : mount_from) {
      auto m = client->mount_blob(dest.repository, from, d.digest);
      if (m && *m) {
        mounted = true;
        break;
      }
    }
    if (mounted) {
      ++result.mounted;
      if (options.progress) options.progress({PushEvent::Kind::mounted, d.digest, d.size, d.size});
      continue;
    }
    BERTH_TRY_ASSIGN(fd, content.open_blob(d.digest));
    BERTH_TRY(client->upload_blob(dest.repository, d, fd, options.chunk_size, [&](int64_t done, int64_t total) {
      if (options.progress) options.progress({PushEvent::Kind::progress, d.digest, done, total});
    }));
    ++result.uploaded;
    if (options.progress) options.progress({PushEvent::Kind::uploaded, d.digest, d.size, d.size});
  }
  std::string media_type = image.manifest_media_type.empty() ? std::string(oci::media::oci_manifest)
                                                             : image.manifest_media_type;
  BERTH_TRY(client->put_manifest(dest.repository, dest.manifest_reference(), media_type, manifest_text));
  result.manifest_digest = manifest_digest;
  if (options.progress) options.progress({PushEvent::Kind::manifest, manifest_digest, 0, 0});
  return result;
}

Result<> login(std::string_view registry, const Credentials& creds, const RegistryOptions& options,
               const std::string& auth_file) {
  BERTH_TRY_ASSIGN(client, RegistryClient::create(registry, options));
  BERTH_TRY(client->check_login(creds));
  return store_credentials(auth_file.empty() ? default_auth_file() : auth_file, registry, creds);
}

Result<bool> logout(std::string_view registry, const std::string& auth_file) {
  return remove_credentials(auth_file.empty() ? default_auth_file() : auth_file, registry);
}

}  // namespace berth::image
