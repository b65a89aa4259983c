import { useId, useState } from "react";
import { useParams } from "react-router";
import { useQuery } from "urql";
import { uploadFile } from "../../app/api";
import { describeApi, describeGraphql } from "../../app/errors";
import { fileSize } from "../../components/format";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import type { AttachedTo } from "../../gql/tenant/graphql";
import { AttachmentsQuery } from "./queries.tenant";

/**
 * Files of a project, record or idea: each downloaded through the signing proxy (a
 * short-lived link made after access is checked again), and uploads with progress.
 */
export function Attachments({ type, id }: { type: AttachedTo; id: string }) {
  const { slug = "" } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: AttachmentsQuery, variables: { type, id } });
  const [progress, setProgress] = useState<number | null>(null);
  const [failure, setFailure] = useState("");
  const inputId = useId();

  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setFailure("");
    setProgress(0);
    const query = new URLSearchParams({ entityType: type.toLowerCase(), entityId: id, filename: file.name });
    const r = await uploadFile(`/w/${encodeURIComponent(slug)}/attachments?${query.toString()}`, file, setProgress);
    setProgress(null);
    if (r.ok) refetch({ requestPolicy: "network-only" });
    else setFailure(describeApi(r.error));
  };

  const files = data?.attachments ?? [];
  return (
    <section className="attachments" aria-label="Attachments">
      {fetching && !data ? <Loading what="attachments" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : failure}</ErrorNotice>
      {data && files.length === 0 ? <Empty>No files attached.</Empty> : null}
      <ul>
        {files.map((f) => (
          <li key={f.id}>
            <a href={f.contentUrl} download={f.filename}>
              {f.filename}
            </a>{" "}
            <span className="muted">
              {fileSize(f.size)} · {f.contentType}
            </span>
          </li>
        ))}
      </ul>
      <div className="field">
        <label htmlFor={inputId}>Attach a file</label>
        <input
          id={inputId}
          type="file"
          disabled={progress !== null}
          onChange={(e) => {
            const input = e.currentTarget;
            void onFile(input.files?.[0]).then(() => {
              input.value = "";
            });
          }}
        />
      </div>
      {progress !== null ? (
        <progress max={1} value={progress} aria-label="Upload progress">
          {Math.round(progress * 100)}%
        </progress>
      ) : null}
    </section>
  );
}
