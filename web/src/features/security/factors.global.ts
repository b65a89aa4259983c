import { graphql } from "../../gql/global";

export const FactorsQuery = graphql(`
  query Factors {
    mySecondFactors {
      totp
      passkeys
      recoveryCodesLeft
    }
    myPasskeys {
      id
      name
      createdAt
      lastUsedAt
    }
  }
`);

export const BeginTotp = graphql(`
  mutation BeginTotp($secondFactor: String) {
    beginTotpEnrollment(secondFactor: $secondFactor) {
      secret
      uri
      qrSvg
    }
  }
`);

export const ConfirmTotp = graphql(`
  mutation ConfirmTotp($code: String!) {
    confirmTotp(code: $code)
  }
`);

export const DisableTotp = graphql(`
  mutation DisableTotp($secondFactor: String) {
    disableTotp(secondFactor: $secondFactor)
  }
`);

export const RegenerateRecoveryCodes = graphql(`
  mutation RegenerateRecoveryCodes($secondFactor: String) {
    regenerateRecoveryCodes(secondFactor: $secondFactor)
  }
`);

export const StartPasskey = graphql(`
  mutation StartPasskey($secondFactor: String) {
    startPasskeyRegistration(secondFactor: $secondFactor)
  }
`);

export const FinishPasskey = graphql(`
  mutation FinishPasskey($ceremonyId: ID!, $name: String!, $credential: JSON!) {
    finishPasskeyRegistration(ceremonyId: $ceremonyId, name: $name, credential: $credential) {
      passkey {
        id
        name
      }
      recoveryCodes
    }
  }
`);

export const RenamePasskey = graphql(`
  mutation RenamePasskey($id: ID!, $name: String!) {
    renamePasskey(id: $id, name: $name) {
      id
      name
    }
  }
`);

export const DeletePasskey = graphql(`
  mutation DeletePasskey($id: ID!, $secondFactor: String) {
    deletePasskey(id: $id, secondFactor: $secondFactor)
  }
`);
