"""Strands, genes, expression and region classes at variant sites (hand-built annotation)."""

import numpy as np
import pytest
import scoring_world as sw

from varbind.scoring.context import SiteContext


@pytest.fixture(scope="module")
def annotation(tmp_path_factory):
    from varbind.annotations.expression import ExpressionTable
    from varbind.annotations.index import AnnotationIndex

    d = tmp_path_factory.mktemp("ctx")
    gtf = sw.write_gtf(d / "genes.gtf")
    # a second '+' gene overlapping G1 at [40, 50), more expressed than G1
    with open(gtf, "a") as fh:
        fh.write('chr1\ttest\texon\t41\t50\t.\t+\t.\tgene_id "G4"; transcript_id "T4"; '
                 'gene_name "GENE4"; gene_type "lncRNA";\n')
    expr = d / "expression.tsv"
    expr.write_text("gene_id\tHepG2\nG1\t9\nG2\t99\nG3\t0\nG4\t500\n")
    index = AnnotationIndex.from_gtf(gtf, use_cache=False)
    return SiteContext(index, ExpressionTable.read(expr), cell_type="HepG2")


def test_strands_follow_the_genes(annotation):
    # 10: G1 (+); 140: G2 (-); 125: between genes; 45: G1 and G4 (+)
    s = annotation.site_strands("chr1", np.array([10, 140, 125, 45]))
    assert s.site.tolist() == [0, 1, 3]
    assert s.strand.tolist() == ["+", "-", "+"]
    assert s.gene_id.tolist() == ["G1", "G2", "G4"]  # G4 is the more expressed
    assert s.transcribed.all()
    expr = annotation.expression_at(s.gene_row, "HepG2")
    assert expr == pytest.approx(np.log1p([9, 99, 500]))


def test_all_strands_scores_both_with_nearest_gene_expression(annotation):
    s = annotation.site_strands("1", np.array([10, 125]), all_strands=True)  # alias '1'
    assert s.site.tolist() == [0, 0, 1, 1]
    assert s.strand.tolist() == ["+", "-", "+", "-"]
    assert s.transcribed.tolist() == [True, False, False, False]
    assert s.gene_id.tolist() == ["G1", "", "", ""]
    # nearest gene per strand gives the expression input: 125 -> G1 on '+', G2 on '-'
    expr = annotation.expression_at(s.gene_row, "HepG2")
    assert expr[2:] == pytest.approx(np.log1p([9, 99]))


def test_region_reader_and_region_at(annotation):
    read = annotation.region_reader("chr1")
    plus = read(55, 65, "+")
    minus = read(140, 150, "-")
    assert plus.tolist() == [4] * 5 + [5] * 5        # ncrna_exon then intron on '+'
    assert minus.tolist() == [4] * 5 + [5] * 5       # genomic order, '-' classes
    assert annotation.region_at("chr1", np.array([59, 60]), np.array(["+", "+"])).tolist() \
        == [4, 5]


def test_without_an_index_nothing_is_transcribed():
    a = SiteContext()
    s = a.site_strands("chr1", np.array([1, 2]))
    assert len(s.site) == 0
    s = a.site_strands("chr1", np.array([1, 2]), all_strands=True)
    assert s.strand.tolist() == ["+", "-", "+", "-"] and not s.transcribed.any()
    assert a.region_reader("chr1") is None
