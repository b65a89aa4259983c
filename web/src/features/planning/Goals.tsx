import { Link, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import { Page } from "../../components/Page";
import { Pager, usePager } from "../../components/Pager";
import { ArchiveGoal, CreateGoal, GoalsQuery, UpdateGoal } from "./queries.tenant";
import { NewItem, WorkItem } from "./WorkItem";

const GOAL_TYPES = { additionalTypenames: ["Goal", "GoalConnection"] };

/** The workspace's goals (paged), each with the projects serving it. */
export function Goals() {
  const { slug = "" } = useParams();
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({ query: GoalsQuery, variables: { after: pager.after } });
  const [saving, save] = useMutation(UpdateGoal);
  const [archiving, archive] = useMutation(ArchiveGoal);
  const [creating, create] = useMutation(CreateGoal);
  const goals = data?.goals.nodes ?? [];
  return (
    <Page title="Goals">
      {fetching && !data ? <Loading what="goals" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data && goals.length === 0 ? <Empty>No goals yet. Projects can serve a goal once it exists.</Empty> : null}
      <ul className="records">
        {goals.map((g) => (
          <WorkItem
            key={g.id}
            id={g.id}
            type="GOAL"
            title={g.title}
            detail={g.description}
            detailLabel="Description"
            archived={g.archivedAt != null}
            saving={saving}
            onSave={async (title, description) => !(await save({ id: g.id, input: { title, description } })).error}
            archiving={archiving}
            onArchive={() => void archive({ id: g.id }, GOAL_TYPES)}
          >
            {g.projects.nodes.length > 0 ? (
              <p className="muted">
                Serving it:{" "}
                {g.projects.nodes.map((p, i) => (
                  <span key={p.id}>
                    {i > 0 ? ", " : ""}
                    <Link to={`/w/${slug}/projects/${p.id}`}>{p.name}</Link>
                  </span>
                ))}
              </p>
            ) : null}
          </WorkItem>
        ))}
      </ul>
      {data ? <Pager pager={pager} hasNext={data.goals.pageInfo.hasNextPage} endCursor={data.goals.pageInfo.endCursor} /> : null}
      <NewItem
        heading="New goal"
        detailLabel="Description"
        button="Add goal"
        result={creating}
        onCreate={async (title, description) => !(await create({ input: { title, description } }, GOAL_TYPES)).error}
      />
    </Page>
  );
}
