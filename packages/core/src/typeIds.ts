/**
 * Type ids of the replicated types that ship with hearsay. They are written into every state,
 * handshake and gossip session, so they never change. Ids below 1000 are reserved for hearsay;
 * pick 1000 or above for your own types.
 */
export const LWWRegisterTypeId = 1
export const LWWMapTypeId = 2
export const GSetTypeId = 3
export const ORSetTypeId = 4
export const PNCounterTypeId = 5
export const EventLogTypeId = 6
export const DocTypeId = 7
export const ListTypeId = 8
export const TextTypeId = 9
export const YDocTypeId = 10
export const MembershipTypeId = 11
/** First id free for types defined outside hearsay. */
export const FirstUserTypeId = 1000
