/**
 * Reading rows for many ids in statements D1 accepts: a D1 statement binds at most 100
 * parameters ("too many SQL variables" past that), so a long list of ids is read in groups.
 */

/** Ids bound per statement, leaving room for the few parameters each query adds of its own. */
export const IDS_PER_STATEMENT = 90

/** Runs `read` for each group of at most IDS_PER_STATEMENT ids, all at once; every group's rows. */
export async function readByIdGroups<Row>(
  ids: string[],
  read: (group: string[]) => PromiseLike<Row[]>,
): Promise<Row[]> {
  const groups: string[][] = []
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    groups.push(ids.slice(i, i + IDS_PER_STATEMENT))
  }
  return (await Promise.all(groups.map(read))).flat()
}
