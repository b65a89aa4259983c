import { createBrowserRouter, Link, RouterProvider } from "react-router";
import { Provider } from "urql";
import { accountClient } from "./clients";
import { Shell, WorkspaceLayout } from "./Shell";
import { Page } from "../components/Page";
import { Join } from "../features/auth/Join";
import { ForgotPassword, ResetPassword } from "../features/auth/ResetPassword";
import { SignIn } from "../features/auth/SignIn";
import { SignUp } from "../features/auth/SignUp";
import { Sso } from "../features/auth/Sso";
import { VerifyEmail } from "../features/auth/VerifyEmail";
import { Audit } from "../features/audit/Audit";
import { Members } from "../features/members/Members";
import { Security } from "../features/security/Security";
import { Settings } from "../features/settings/Settings";
import { Project } from "../features/projects/Project";
import { Projects } from "../features/projects/Projects";
import { Home } from "../features/workspaces/Home";
import { Goals } from "../features/planning/Goals";
import { Ideas } from "../features/planning/Ideas";

function NotFound() {
  return (
    <Page title="Not found">
      <p>
        There is no page here. <Link to="/">Go to your workspaces</Link>
      </p>
    </Page>
  );
}

const router = createBrowserRouter([
  { path: "/signin", element: <SignIn /> },
  { path: "/signup", element: <SignUp /> },
  { path: "/sso", element: <Sso /> },
  { path: "/forgot-password", element: <ForgotPassword /> },
  { path: "/reset-password", element: <ResetPassword /> },
  { path: "/verify-email", element: <VerifyEmail /> },
  { path: "/join/:slug", element: <Join /> },
  {
    element: <Shell />,
    children: [
      { path: "/", element: <Home /> },
      { path: "/account/security", element: <Security /> },
      {
        path: "/w/:slug",
        element: <WorkspaceLayout />,
        children: [
          { index: true, element: <Projects /> },
          { path: "projects/:id", element: <Project /> },
          { path: "goals", element: <Goals /> },
          { path: "ideas", element: <Ideas /> },
          { path: "members", element: <Members /> },
          { path: "admin/audit", element: <Audit /> },
          { path: "settings", element: <Settings /> },
        ],
      },
      { path: "*", element: <NotFound /> },
    ],
  },
]);

export function App() {
  return (
    <Provider value={accountClient}>
      <RouterProvider router={router} />
    </Provider>
  );
}
