-- Old-style ids are canonical without their subject class (issue #8, docs/sources.md):
-- math.GT/0309136 is math/0309136. Rows stored under the old form move to the
-- canonical id when nothing else holds or claims it (a row that would collide stays
-- as it is), with a new change_seq so that search indexes follow.
CREATE TEMP TABLE canonical_ids AS
    SELECT id, arxiv_id AS old_id,
           substr(arxiv_id, 1, instr(arxiv_id, '.') - 1) || substr(arxiv_id, instr(arxiv_id, '/')) AS new_id
    FROM papers
    WHERE arxiv_id GLOB '[a-z]*.[A-Z][A-Z]/[0-9][0-9][0-9][0-9][0-9][0-9][0-9]';
DELETE FROM canonical_ids
    WHERE new_id IN (SELECT arxiv_id FROM papers)
       OR new_id IN (SELECT arxiv_id FROM daily_entries)
       OR new_id IN (SELECT arxiv_id FROM paper_sources)
       OR new_id IN (SELECT new_id FROM canonical_ids GROUP BY new_id HAVING COUNT(*) > 1);
UPDATE daily_entries SET arxiv_id = (SELECT new_id FROM canonical_ids WHERE old_id = daily_entries.arxiv_id)
    WHERE arxiv_id IN (SELECT old_id FROM canonical_ids);
UPDATE paper_sources SET arxiv_id = (SELECT new_id FROM canonical_ids WHERE old_id = paper_sources.arxiv_id)
    WHERE arxiv_id IN (SELECT old_id FROM canonical_ids);
UPDATE papers
    SET arxiv_id = (SELECT new_id FROM canonical_ids WHERE canonical_ids.id = papers.id),
        change_seq = (SELECT MAX(change_seq) FROM papers) + id
    WHERE id IN (SELECT id FROM canonical_ids);
DROP TABLE canonical_ids;
