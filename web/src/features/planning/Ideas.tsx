import { useId, useState } from "react";
import { Link, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import { Page } from "../../components/Page";
import { Pager, usePager } from "../../components/Pager";
import { ArchiveIdea, CreateIdea, IdeasQuery, PromoteIdea, UpdateIdea } from "./queries.tenant";
import { NewItem, WorkItem } from "./WorkItem";

const IDEA_TYPES = { additionalTypenames: ["Idea", "IdeaConnection", "Project"] };

/** The workspace's ideas (paged); an idea can become a project of a team. */
export function Ideas() {
  const { slug = "" } = useParams();
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({ query: IdeasQuery, variables: { after: pager.after } });
  const [saving, save] = useMutation(UpdateIdea);
  const [archiving, archive] = useMutation(ArchiveIdea);
  const [creating, create] = useMutation(CreateIdea);
  const ideas = data?.ideas.nodes ?? [];
  const teams = data?.teams.nodes ?? [];
  return (
    <Page title="Ideas">
      {fetching && !data ? <Loading what="ideas" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data && ideas.length === 0 ? <Empty>No ideas yet. Write one down below.</Empty> : null}
      <ul className="records">
        {ideas.map((idea) => (
          <WorkItem
            key={idea.id}
            id={idea.id}
            type="IDEA"
            title={idea.title}
            detail={idea.body}
            detailLabel="Notes"
            archived={idea.archivedAt != null}
            saving={saving}
            onSave={async (title, body) => !(await save({ id: idea.id, input: { title, body } })).error}
            archiving={archiving}
            onArchive={() => void archive({ id: idea.id }, IDEA_TYPES)}
            actions={idea.promotedProject || teams.length === 0 ? null : <Promote ideaId={idea.id} teams={teams} />}
          >
            {idea.promotedProject ? (
              <p className="muted">
                Became the project <Link to={`/w/${slug}/projects/${idea.promotedProject.id}`}>{idea.promotedProject.name}</Link>
              </p>
            ) : null}
          </WorkItem>
        ))}
      </ul>
      {data ? <Pager pager={pager} hasNext={data.ideas.pageInfo.hasNextPage} endCursor={data.ideas.pageInfo.endCursor} /> : null}
      <NewItem
        heading="New idea"
        detailLabel="Notes"
        button="Add idea"
        result={creating}
        onCreate={async (title, body) => !(await create({ input: { title, body } }, IDEA_TYPES)).error}
      />
    </Page>
  );
}

function Promote({ ideaId, teams }: { ideaId: string; teams: { id: string; name: string }[] }) {
  const [open, setOpen] = useState(false);
  const [team, setTeam] = useState(teams[0]?.id ?? "");
  const [result, promote] = useMutation(PromoteIdea);
  const selectId = useId();
  if (!open) {
    return (
      <button type="button" className="link" onClick={() => setOpen(true)}>
        Make it a project
      </button>
    );
  }
  return (
    <span className="inline-form">
      <label htmlFor={selectId}>Team</label>
      <select id={selectId} value={team} onChange={(e) => setTeam(e.target.value)}>
        {teams.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
      <button type="button" disabled={result.fetching || !team} onClick={() => void promote({ id: ideaId, teamId: team }, IDEA_TYPES)}>
        Create project
      </button>
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
    </span>
  );
}
